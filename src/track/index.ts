export { associate, hungarian, type Assignment } from './associate.js';
export { ByteTracker, type QueryTrackUpdate, type TrackMatch } from './byte-tracker.js';
export { TRACKER_DEFAULTS, trackerConfig, type TrackerConfig, type TrackerOptions } from './config.js';
export { BoxMotion, MOTION_DEFAULTS, type MotionConfig } from './motion.js';
export { BoxSmoother, SMOOTHING_DEFAULTS, type SmoothingConfig } from './smoother.js';
export { StreamTracker, type StreamTrackUpdate, type TrackedDetection } from './stream-tracker.js';
export { TrackView } from './track-view.js';
