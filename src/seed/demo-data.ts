/** The demo data of `npm run seed`. Patients and mappings name their owner and doctor by key. */

export const DEMO_PASSWORD = 'demo-password-123'

export const demoUsers = {
  ada: { name: 'Dr. Ada Lovelace', email: 'ada@example.org' },
  grace: { name: 'Dr. Grace Hopper', email: 'grace@example.org' }
} as const

export type DemoUserKey = keyof typeof demoUsers

export const demoDoctors = {
  house: { createdBy: 'ada', name: 'Dr. Gregory House', age: 50, specialty: 'Diagnostics' },
  quinn: { createdBy: 'ada', name: 'Dr. Michaela Quinn', age: 42, specialty: 'General practice' },
  grey: { createdBy: 'grace', name: 'Dr. Meredith Grey', age: 38, specialty: 'General surgery' }
} as const satisfies Record<string, { createdBy: DemoUserKey; name: string; age: number; specialty: string }>

export const demoPatients = {
  jane: { owner: 'ada', name: 'Jane Roe', age: 42, disease: 'Hypertension' },
  john: { owner: 'ada', name: 'John Doe', age: 67, disease: 'Type 2 diabetes' },
  mary: { owner: 'grace', name: 'Mary Major', age: 29, disease: 'Asthma' }
} as const satisfies Record<string, { owner: DemoUserKey; name: string; age: number; disease: string }>

export const demoMappings: Array<{ patient: keyof typeof demoPatients; doctor: keyof typeof demoDoctors }> = [
  { patient: 'jane', doctor: 'house' },
  { patient: 'jane', doctor: 'quinn' },
  { patient: 'john', doctor: 'quinn' },
  { patient: 'mary', doctor: 'grey' }
]
