// A bare worker for the actor-to-actor baselines: two of them share a `MessageChannel`, one port
// each. Over its port a peer echoes, counts and reports its count; told by the host, it drives the
// other peer (round trips one after another, or one `postMessage` per message) and reports. For
// `relay`, the round trips go through the host instead (four posts, as a Troupe ask between two
// worker actors makes): the least such an ask can cost.

const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent) => void;
  postMessage: (data: unknown) => void;
};
let port: MessagePort;
let count = 0;
let waiting: ((data: { t: string; n: number }) => void) | undefined;

function onPort(event: MessageEvent): void {
  const data = event.data;
  if (data.t === "add") count += data.n;
  else if (data.t === "echo") port.postMessage({ t: "pong", n: data.n });
  else if (data.t === "count") port.postMessage({ t: "total", n: count });
  else waiting?.(data);
}

function pick(values: ArrayLike<number>, p: number): number {
  return values[Math.min(values.length - 1, Math.floor(values.length * p))];
}

function reply(): Promise<{ t: string; n: number }> {
  return new Promise((resolve) => waiting = resolve);
}

scope.onmessage = async (event) => {
  const data = event.data;
  if (data.t === "relayed") scope.postMessage({ t: "back", n: data.n });
  else if (data.t === "back") waiting?.(data);
  else if (data.t === "port") {
    port = data.port;
    port.onmessage = onPort;
    scope.postMessage({ t: "ready" });
  } else if (data.t === "asks" || data.t === "relay") {
    const times = new Float64Array(data.n);
    const start = performance.now();
    for (let i = 0; i < data.n; i++) {
      const t = performance.now();
      const answer = reply();
      if (data.t === "asks") port.postMessage({ t: "echo", n: i });
      else scope.postMessage({ t: "via", n: i });
      await answer;
      times[i] = (performance.now() - t) * 1000;
    }
    const ms = performance.now() - start;
    times.sort();
    scope.postMessage({ t: "report", p50: pick(times, 0.5), p99: pick(times, 0.99), ms });
  } else if (data.t === "tells") {
    let answer = reply();
    port.postMessage({ t: "count" });
    const before = (await answer).n;
    const start = performance.now();
    for (let i = 0; i < data.n; i++) port.postMessage({ t: "add", n: 1 });
    answer = reply();
    port.postMessage({ t: "count" });
    const after = (await answer).n;
    const ms = performance.now() - start;
    if (after - before !== data.n) throw new Error(`Lost messages: ${after - before}`);
    scope.postMessage({ t: "report", p50: 0, p99: 0, ms });
  }
};
