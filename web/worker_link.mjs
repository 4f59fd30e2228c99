// The engine host and each worker of ours (ONNX Runtime, downloads, hashing) talk one way: the host numbers
// the calls it waits on, and the worker answers them in order of completion, with progress before the answer
// if it likes; a message without a number is answered by nothing.
//   host -> worker: {call?, ...message}
//   worker -> host: {call, progress: [...]} · {call, value} · {call?, error: {name, message}}
// A worker that fails (its script did not load, or a message without a number failed) fails every call waiting
// on it and every later one made through it; the link's next user starts another worker.

// The host's side. `failure(script, why)` is the error a failed worker's calls get.
export function workerLink(path, name, failure) {
  const script = new URL(path, import.meta.url);
  let current = null;
  return {
    live() {  // the worker, started when there is none or the last one failed
      if (!current || current.failed) current = connect(script, name, failure);
      return current;
    },
    end(error) {  // stops the worker, failing its calls with `error`
      current?.end(error);
    },
  };
}

function connect(script, name, failure) {
  const worker = new Worker(script, { type: "module", name });
  const pending = new Map();
  let calls = 0;
  const link = {
    failed: null,
    post(message, transfer = []) {
      worker.postMessage(message, transfer);
    },
    call(message, transfer = [], onProgress = null) {
      return new Promise((resolve, reject) => {
        if (link.failed) return reject(link.failed);
        const call = ++calls;
        pending.set(call, { resolve, reject, onProgress });
        worker.postMessage({ ...message, call }, transfer);
      });
    },
    end(error) {
      link.failed ??= error;
      worker.terminate();
      for (const { reject } of pending.values()) reject(link.failed);
      pending.clear();
    },
  };
  worker.onmessage = ({ data: { call, progress, value, error } }) => {
    if (!call) return link.end(failure(script, `${error.name}: ${error.message}`));
    const waiting = pending.get(call);
    if (!waiting) return;  // the link ended
    if (progress) return waiting.onProgress?.(...progress);
    pending.delete(call);
    if (error) waiting.reject(Object.assign(new Error(error.message), { name: error.name }));
    else waiting.resolve(value);
  };
  worker.onerror = (event) => {
    event.preventDefault();  // handled here: not reported on as the host's own uncaught error, which ended the host
    link.end(failure(script, event.message ?? "its script did not load"));
  };
  return link;
}

// The worker's side. `handle(message, progress)` is called as each message arrives (so work it queues stays in
// message order) and gives the answer: a value, or `moved(value, buffers)` to transfer buffers with it.
export function answerCalls(handle) {
  self.onmessage = async ({ data }) => {
    const { call } = data;
    try {
      const answer = await handle(data, (...progress) => self.postMessage({ call, progress }));
      if (!call) return;
      if (answer instanceof Moved) self.postMessage({ call, value: answer.value }, answer.buffers);
      else self.postMessage({ call, value: answer });
    } catch (error) {
      self.postMessage({ call, error: { name: error?.name ?? "Error", message: error?.message ?? String(error) } });
    }
  };
}

class Moved {
  constructor(value, buffers) {
    this.value = value;
    this.buffers = buffers;
  }
}

export const moved = (value, buffers) => new Moved(value, buffers);
