// Hugging Face Hub downloads through the shared HF cache.
export { hfHubDownload, type DownloadProgress, type HubDownloadOptions } from "./download.js";
export { resolveModelFiles, resolveModelPath, shardFilesOfIndex } from "./model-files.js";
export { createDownloadProgress, formatBytes, type DownloadProgressOptions } from "./progress.js";
export { HubError, type HubErrorCode } from "./errors.js";
export { RepoCache, repoFolderName, isCommitHash } from "./cache.js";
export { hubCacheDir, hubEndpoint, hubToken, isOfflineFromEnv } from "./env.js";
export { resolveUrl } from "./metadata.js";
