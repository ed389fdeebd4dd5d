export * from './grounding-model.js';
export { loadModel, BUNDLED_MODEL_DIR, type LoadOptions } from './load.js';
export type { ImageInput, RawImage } from './image-input.js';
export type { SessionOptions } from './onnx-session.js';
