// Preloaded into a process the bench starts (`node --import`): prints the process's peak resident
// set size on stderr as it exits, as `maxRSS <bytes>`.
process.on('exit', () => {
  process.stderr.write(`maxRSS ${process.resourceUsage().maxRSS * 1024}\n`);
});
