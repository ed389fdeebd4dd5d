import { normalizeInto } from '../src/model/owl/preprocess.js';
const S = 224, plane = S * S;
const rgb = new Uint8Array(S * S * 3); for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7919) & 255;
const mean = [0.48145466, 0.4578275, 0.40821073], std = [0.26862954, 0.26130258, 0.27577711];
const out = new Float32Array(3 * plane), out2 = new Float32Array(3 * plane), out3 = new Float32Array(3*plane);
function lutVersion(out: Float32Array, rgb: Uint8Array, width: number, height: number, size: number, luts: Float32Array[]) {
  const r = out.subarray(0, size * size), g = out.subarray(size * size, 2 * size * size), b = out.subarray(2 * size * size);
  const l0 = luts[0]!, l1 = luts[1]!, l2 = luts[2]!;
  let src = 0;
  for (let y = 0; y < height; y++) {
    const row = y * size;
    for (let o = row, end = row + width; o < end; o++, src += 3) {
      r[o] = l0[rgb[src]!]!; g[o] = l1[rgb[src + 1]!]!; b[o] = l2[rgb[src + 2]!]!;
    }
  }
}
function viewsVersion(out: Float32Array, rgb: Uint8Array, width: number, height: number, size: number) {
  const r = out.subarray(0, size * size), g = out.subarray(size * size, 2 * size * size), b = out.subarray(2 * size * size);
  const s0 = 1 / (255 * std[0]!), s1 = 1 / (255 * std[1]!), s2 = 1 / (255 * std[2]!);
  const b0 = -mean[0]! / std[0]!, b1 = -mean[1]! / std[1]!, b2 = -mean[2]! / std[2]!;
  let src = 0;
  for (let y = 0; y < height; y++) {
    const row = y * size;
    for (let o = row, end = row + width; o < end; o++, src += 3) {
      r[o] = rgb[src]! * s0 + b0; g[o] = rgb[src + 1]! * s1 + b1; b[o] = rgb[src + 2]! * s2 + b2;
    }
  }
}
const luts = [0, 1, 2].map((c) => { const l = new Float32Array(256); for (let v = 0; v < 256; v++) l[v] = (v / 255 - mean[c]!) / std[c]!; return l; });
for (let round = 0; round < 3; round++) {
  for (const [name, f] of [
    ['current', () => normalizeInto(out, rgb, S, S, S, mean, std, 3)],
    ['lut+views', () => lutVersion(out2, rgb, S, S, S, luts)],
    ['views', () => viewsVersion(out3, rgb, S, S, S)],
  ] as const) {
    for (let i = 0; i < 200; i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) f();
    console.log(name, (Number(process.hrtime.bigint() - t) / 2000 / 1e6).toFixed(4), 'ms');
  }
}
let md = 0; for (let i = 0; i < out.length; i++) md = Math.max(md, Math.abs(out[i]! - out2[i]!), Math.abs(out[i]! - out3[i]!));
console.log('max diff', md);
