// Preloaded into the server by bench/sockets.ts: on SIGUSR2 it collects garbage and prints the
// process memory as one JSON line, so the benchmark can read the heap of another process.
process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc()
  process.stdout.write(JSON.stringify({ memoryProbe: process.memoryUsage() }) + '\n')
})
