// Logs in over Socket.io and prints every patient you create, wherever you create it
// (REST, another socket, another instance behind the load balancer). The client renews its access
// token with the refresh token before it expires (src/client/sessions.ts), so it keeps listening
// until the session is ended (a logout elsewhere, DELETE /api/auth/sessions/:id, a new password).
//
//   API_URL=http://127.0.0.1:3030 EMAIL=ada@example.org PASSWORD=demo-password-123 npx tsx examples/patients-feed.ts
//
// API_URL is the server's address (default http://127.0.0.1:3030, where `npm start` listens); EMAIL
// and PASSWORD a login, such as a demo user of `npm run seed`. Until a server answers at API_URL,
// the client keeps trying to connect, and says so.
import socketio from '@feathersjs/socketio-client'
import { io } from 'socket.io-client'
import { createClient } from '../src/client'

const { API_URL = 'http://127.0.0.1:3030', EMAIL = '', PASSWORD = '' } = process.env

async function main() {
  const socket = io(API_URL, { transports: ['websocket'] })
  socket.once('connect_error', () => {
    console.log(`No server answers at ${API_URL} (API_URL) yet: waiting for one (npm start)…`)
  })
  const client = createClient(socketio(socket))
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
