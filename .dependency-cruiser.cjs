/**
 * The layering `ls -R src` shows, enforced: each folder imports only from the folders below it
 * (lib → config → pool → store → greeting → memory → tools → call → metrics → worker → cli), and nothing
 * imports in a circle. Run by `npm run lint`.
 */
const LAYERS = [
  'lib',
  'config',
  'pool',
  'store',
  'greeting',
  'memory',
  'tools',
  'call',
  'metrics',
  'worker',
  'cli',
];
const below = (layer) => LAYERS.slice(0, LAYERS.indexOf(layer) + 1).join('|');

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle hides which part depends on which.',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.map((layer) => ({
      name: `${layer}-imports-only-below`,
      severity: 'error',
      comment: `src/${layer} may import only from ${below(layer)}.`,
      from: { path: `^src/${layer}/` },
      to: { path: '^src/', pathNot: `^src/(${below(layer)})/` },
    })),
    {
      name: 'operator-commands-import-no-call-or-worker',
      severity: 'error',
      comment:
        'Operator commands reach the store and the outbox, never a call or the worker; only ' +
        '`chat` (a call in a terminal) runs a call as a job process does.',
      from: { path: '^src/cli/', pathNot: '^src/cli/chat' },
      to: { path: '^src/(call|worker|tools)/' },
    },
    {
      name: 'memory-parts-never-import-their-wiring',
      severity: 'error',
      comment:
        'extraction/ and outbox/ sit under processor/, recall/ beside it; none of them imports ' +
        'memory/ root files.',
      from: { path: '^src/memory/(extraction|outbox|processor|recall)/' },
      to: { path: '^src/memory/[^/]+\\.ts$' },
    },
    {
      name: 'extraction-and-outbox-never-import-processor',
      severity: 'error',
      comment: 'recall/ (the call-side index) and the processor meet only in memory-services.ts.',
      from: { path: '^src/memory/(extraction|outbox|recall)/' },
      to: { path: '^src/memory/processor/' },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
