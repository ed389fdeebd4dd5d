// The ffmpeg this machine resolves (override, PATH, or the bundled build): see ffmpeg-binary.ts.
import { resolveFfmpeg } from '../../src/ingest/index.js';
import { ffmpegSourceSuite } from './ffmpeg-source.suite.js';

ffmpegSourceSuite(resolveFfmpeg());
