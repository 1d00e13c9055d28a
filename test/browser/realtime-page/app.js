// The Feathers browser client on Socket.io: log in, then list each patient as it is created.
const socket = io(window.location.origin, { transports: ['websocket'] })
const client = feathers()
client.configure(feathers.socketio(socket))
client.configure(feathers.authentication({ storage: window.sessionStorage }))

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
