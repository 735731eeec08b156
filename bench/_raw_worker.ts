// A bare worker for the baseline: counts one-way messages, echoes pings.
const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent) => void;
  postMessage: (data: unknown) => void;
};
let count = 0;
scope.onmessage = (event) => {
  const data = event.data;
  if (data.t === "echo") {
    scope.postMessage(data);
  } else if (data.t === "expect") {
    count = 0;
    scope.postMessage({ t: "armed" });
  } else if (data.t === "batch") {
    for (const _ of data.items) count++;
    if (count >= data.until) scope.postMessage({ t: "done", count });
  } else {
    count++;
    if (count >= data.until) scope.postMessage({ t: "done", count });
  }
};
