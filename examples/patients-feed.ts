// Logs in over Socket.io and prints every patient you create, wherever you create it
// (REST, another socket, another instance behind the load balancer). The client renews its access
// token with the refresh token before it expires (src/client/sessions.ts), so it keeps listening
// until the session is ended (a logout elsewhere, DELETE /api/auth/sessions/:id, a new password).
//
//   API_URL=http://127.0.0.1:3030 EMAIL=ada@example.org PASSWORD='correct horse battery' npx tsx examples/patients-feed.ts
import socketio from '@feathersjs/socketio-client'
import { io } from 'socket.io-client'
import { createClient } from '../src/client'

const { API_URL = 'http://127.0.0.1:3030', EMAIL = '', PASSWORD = '' } = process.env

async function main() {
  const client = createClient(socketio(io(API_URL, { transports: ['websocket'] })))
  const { user } = await client.authenticate({ strategy: 'local', email: EMAIL, password: PASSWORD })
  console.log(`Logged in as ${user.name}; waiting for your patients…`)

  client.service('patients').on('created', (patient) => {
    console.log(`New patient ${patient.name} (${patient.age}), ${patient.disease}`)
  })
}

main().catch((error) => {
  console.error(error.message)
  process.exit(1)
})
