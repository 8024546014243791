// noble and bleno add process SIGINT and exit handlers when they start (noble's SIGINT handler calls
// process.exit(1) when it is the last one). The radio's shutdown removes bleno's by name, but noble's are
// anonymous. Code that runs phones inside a longer-lived process (fleet claims, the demo, the fleet
// benchmark) notes the handlers before and removes what was added after closing the radio.
export function keepProcessHandlers(): () => void {
  const sigint = new Set(process.listeners('SIGINT'));
  const exit = new Set(process.listeners('exit'));
  return () => {
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.removeListener('SIGINT', l);
    for (const l of process.listeners('exit')) if (!exit.has(l)) process.removeListener('exit', l);
  };
}
