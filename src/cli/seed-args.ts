// `npm run seed` arguments → the job to submit and where: --resource 2[,3] --zoom 0-6 [--bbox
// minx,miny,maxx,maxy] [--format mvt|png] [--type seed|reseed|truncate] [--priority 50]
// [--url http://127.0.0.1:8080] [--user administrator]; the password comes from MERIDIAN_PASSWORD
// (never the command line, where other users could read it).
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export interface SeedCommand {
  url: string;
  user: string;
  password: string | undefined;
  job: Record<string, unknown>;
}

function numbers(text: string, name: string, separator: string, count: number): number[] {
  const values = text.split(separator).map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (values.length !== count || values.some((v) => !Number.isFinite(v))) throw new UsageError(`--${name} must be ${count} numbers separated by "${separator}", got "${text}"`);
  return values;
}

/**
 * `--bbox -10,35,30,60` as `--bbox=-10,35,30,60`: parseArgs refuses a value starting with "-" as
 * ambiguous, and a box reaching west of Greenwich starts so. Every option here takes a value.
 */
function joinNegativeValues(argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (/^--\w+$/.test(argv[i]) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${argv[i]}=${next}`);
      i++;
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

export function seedCommand(argv: string[], env: NodeJS.ProcessEnv): SeedCommand {
  let values;
  try {
    values = parseArgs({
      args: joinNegativeValues(argv),
      options: {
        resource: { type: 'string', multiple: true }, zoom: { type: 'string' }, bbox: { type: 'string' },
        format: { type: 'string' }, type: { type: 'string' }, priority: { type: 'string' },
        url: { type: 'string' }, user: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!values.resource) throw new UsageError('--resource is required (a resource id; repeat it or separate ids by commas)');
  if (!values.zoom) throw new UsageError('--zoom is required (min-max, e.g. 0-6, or one zoom level)');
  const zoom = values.zoom.includes('-') ? numbers(values.zoom, 'zoom', '-', 2) : [...numbers(values.zoom, 'zoom', '-', 1), ...numbers(values.zoom, 'zoom', '-', 1)];
  const job: Record<string, unknown> = {
    type: values.type ?? 'seed',
    format: values.format ?? 'mvt',
    resources: values.resource.flatMap((r) => r.split(',')).map((r) => numbers(r, 'resource', ',', 1)[0]),
    zoom,
  };
  if (values.bbox) job.bbox = numbers(values.bbox, 'bbox', ',', 4);
  if (values.priority) job.priority = numbers(values.priority, 'priority', ',', 1)[0];
  return {
    url: (values.url ?? env.MERIDIAN_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    user: values.user ?? env.MERIDIAN_USER ?? 'administrator',
    password: env.MERIDIAN_PASSWORD,
    job,
  };
}
