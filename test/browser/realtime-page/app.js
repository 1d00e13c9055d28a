// The Feathers browser client on Socket.io: log in, then list each patient as it is created.
// The API's URL: `?api=http://127.0.0.1:3030`, or this page's own origin.
import { withSessions } from './session-client.js'

const api = new URLSearchParams(window.location.search).get('api') || window.location.origin
const socket = io(api, { transports: ['websocket'] })
const client = feathers()
client.configure(feathers.socketio(socket))
client.configure(
  feathers.authentication({
    storage: window.sessionStorage,
    // Stays logged in: renews the access token with the refresh token before it expires.
    Authentication: withSessions(feathers.authentication.AuthenticationClient)
  })
)

window.receivedPatients = []

client.service('patients').on('created', (patient) => {
  window.receivedPatients.push(patient)
  const item = document.createElement('li')
  item.textContent = `${patient.name} (${patient.age}): ${patient.disease}`
  document.querySelector('#patients').append(item)
})

window.logIn = async (email, password) => {
  const { user } = await client.authenticate({ strategy: 'local', email, password })
  document.querySelector('#status').textContent = `logged in as ${user.email}`
  return user
}
