// Types of node-runtime.mjs for the TypeScript that imports it (the script itself stays plain JavaScript: it runs before anything is built).
export declare const MIN_NODE_MAJOR: number;
export declare const PINNED_NODE: { version: string; packages: Record<'x64' | 'arm64', { name: string; integrity: string }> };
export declare function nodeCacheDir(): string;
export declare function ensureNode(options: { log: (message: string) => void }): {
  bin: string;
  version: string;
  source: 'NODE_BIN' | 'current' | 'cache' | 'registry';
};
