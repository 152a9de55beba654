// ONNX Runtime's outputs for tests/onnx.sh: the first N MNIST test images (IDX, bytes / 255,
// NCHW) through MODEL.onnx, written as raw float32 [N, outputs] to OUT.bin.
//   node ort_run.js MODEL.onnx DATA_DIR N OUT.bin
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

function readIdx(dir, name) {
  const raw = path.join(dir, name);
  if (fs.existsSync(raw)) return fs.readFileSync(raw);
  return zlib.gunzipSync(fs.readFileSync(raw + '.gz'));
}

async function main() {
  const [model, dir, nArg, out] = process.argv.slice(2);
  const idx = readIdx(dir, 't10k-images-idx3-ubyte');
  const count = idx.readUInt32BE(4), h = idx.readUInt32BE(8), w = idx.readUInt32BE(12);
  const n = Math.min(parseInt(nArg, 10), count);
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++) x[i] = idx[16 + i] / 255;
  const session = await ort.InferenceSession.create(model);
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor('float32', x, [n, 1, h, w]);
  const result = await session.run(feeds);
  const y = result[session.outputNames[0]];
  if (y.dims.length !== 2 || y.dims[0] !== n) throw new Error(`output dims ${y.dims}`);
  fs.writeFileSync(out, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
