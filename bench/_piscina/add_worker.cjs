// The trivial task Piscina runs for bench/patterns.ts: the same `add` as bench/_patterns_tasks.ts.
// Piscina passes one value per task, so the two numbers travel in an object.
module.exports = ({ a, b }) => a + b;
