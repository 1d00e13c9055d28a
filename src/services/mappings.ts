import { uuid } from '../declarative/fields'
import { defineResource } from '../declarative/resource'
import type { RecordOfResource } from '../declarative/declaration'
import { doctors } from './doctors'
import { patients } from './patients'

/** Doctors assigned to the caller's own patients; each mapping carries its doctor and its patient. */
export const mappings = defineResource({
  path: 'mappings',
  description:
    "Doctors assigned to the caller's own patients; each mapping carries its `doctor` and `patient`",
  fields: {
    patientId: uuid(),
    doctorId: uuid()
  },
  // The patient's owner, kept for access: a composite foreign key keeps it equal to the patient's.
  owner: { through: 'patientId' },
  references: {
    doctorId: { to: doctors, notFound: 'Doctor not found', onDelete: 'cascade', embed: 'doctor' },
    patientId: { to: patients, notFound: 'Patient not found', onDelete: 'cascade', embed: 'patient' }
  },
  unique: [['patientId', 'doctorId']],
  methods: ['find', 'get', 'create', 'remove'],
  updatedAt: false,
  publish: 'owner',
  audit: true,
  // GET /api/mappings/:patientId finds a patient's mappings (the contract's route); a mapping's own
  // get stays at /mappings/:id and on every socket.
  api: { findBy: 'patientId', replacesGet: true }
})

export type Mapping = RecordOfResource<typeof mappings>
