// Child script for tests/model/workers.test.ts: inference on worker threads, model.close() called
// twice while runs are in flight, then process.exit(0). Terminating a worker thread while it is
// inside onnxruntime aborts the process (exit 134): exit 0 says close() ended the threads gracefully.
import { loadModel } from '../../dist/model/index.js';

const model = await loadModel(undefined, { session: { workers: 2 } });
const qs = await model.prepareQueries(['red circle', 'star']);
const frame = { data: new Uint8Array(224 * 224 * 3).fill(80), width: 224, height: 224 };
let answered = 0;
let stop = false;
const loop = async () => {
  while (!stop) {
    try {
      await model.detect(frame, qs);
      answered++;
    } catch {
      return;
    }
  }
};
const loops = [loop(), loop(), loop(), loop()];
while (answered < 6) await new Promise((r) => setImmediate(r));
void model.close();
await model.close();
stop = true;
await Promise.all(loops);
process.stdout.write(`answered ${answered}\n`);
process.exit(0);
