// The static 4.1 build from @ffmpeg-installer/ffmpeg, whatever else is installed: the flags must
// work with it too, since it is what a machine without ffmpeg runs.
import { resolveFfmpeg } from '../../src/ingest/index.js';
import { ffmpegSourceSuite } from './ffmpeg-source.suite.js';

ffmpegSourceSuite(resolveFfmpeg({ skipPath: true, env: {} }));
