/**
 * The on-disk cache of surgered models. A model is surgered once: the analysis variant (hidden states +
 * steering), the generation variant (steering only) and the logit-lens graph are written to
 * `<cacheDir>/<key>/`, keyed by the ONNX file's sha256, the surgery and lens versions and the locator
 * override. Every file is written to a temp file and renamed into place, and manifest.json is written last,
 * so a crash never leaves a half-written entry that looks complete.
 *
 * Models with external data keep their weights where they are: the cached graphs reference the original
 * files by relative location, and sessions load them with the original folder as the external-data base.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFolderError } from './errors';
import { buildLogitLensModel, LENS_VERSION } from './logitLens';
import { locateResidualStream, type ResidualStreamLayout } from './locator';
import { checkExternalData, sha256File, type ModelFolder } from './modelFolder';
import { encodeModel, readModelFile, errorText } from './onnxProto';
import { surgerModel, SURGERY_VERSION, variantOptions } from './surgery';

/** What the cache holds for one model. */
export interface PreparedModel {
  key: string;
  dir: string; // the cache entry's folder
  modelSha256: string; // of the ONNX file
  layout: ResidualStreamLayout;
  inspectPath: string; // hidden_states.{k} outputs + steer.{k} inputs
  steerPath: string; // steer.{k} inputs only (fast generation)
  lensPath: string; // logit-lens graph
  externalDataDir: string | null; // the original model folder when weights live in external files
  fromCache: boolean;
}

interface Manifest {
  version: 1;
  modelSha256: string;
  onnxPath: string;
  layout: ResidualStreamLayout;
  externalData: boolean;
  surgeryVersion: number;
  lensVersion: number;
}

/** The default cache folder: $POLYGLOT_LENS_CACHE, else $XDG_CACHE_HOME/polyglot-lens, else ~/.cache/polyglot-lens. */
export function defaultCacheDir(): string {
  if (process.env.POLYGLOT_LENS_CACHE) return process.env.POLYGLOT_LENS_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'polyglot-lens');
}

/** Writes a file atomically: a temp file in the same folder, then rename. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Returns the cached surgered models of a folder, building them first if needed (decode, locate, surger, write). */
export async function prepareModel(folder: ModelFolder, options: { cacheDir?: string } = {}): Promise<PreparedModel> {
  const cacheRoot = path.join(options.cacheDir ?? defaultCacheDir(), 'surgered');
  const modelSha256 = await sha256File(folder.onnxPath);
  const key = crypto
    .createHash('sha256')
    .update(
      JSON.stringify({
        modelSha256,
        surgery: SURGERY_VERSION,
        lens: LENS_VERSION,
        override: folder.overrideText,
        numLayers: folder.config.numLayers,
        hiddenSize: folder.config.hiddenSize,
      }),
    )
    .digest('hex')
    .slice(0, 32);
  const dir = path.join(cacheRoot, key);
  const paths = {
    inspectPath: path.join(dir, 'inspect.onnx'),
    steerPath: path.join(dir, 'steer.onnx'),
    lensPath: path.join(dir, 'lens.onnx'),
  };
  const manifestPath = path.join(dir, 'manifest.json');
  const modelDir = path.dirname(folder.onnxPath);

  const cached = readManifest(manifestPath);
  if (cached && cached.modelSha256 === modelSha256 && Object.values(paths).every((p) => fs.existsSync(p))) {
    return {
      key,
      dir,
      modelSha256,
      layout: cached.layout,
      ...paths,
      externalDataDir: cached.externalData ? modelDir : null,
      fromCache: true,
    };
  }

  const model = readModelFile(folder.onnxPath);
  const external = checkExternalData(model, modelDir, path.basename(folder.onnxPath));
  const layout = locateResidualStream(model, {
    numLayers: folder.config.numLayers,
    hiddenSize: folder.config.hiddenSize,
    override: folder.override,
    modelLabel: folder.onnxPath,
  });
  try {
    writeFileAtomic(paths.inspectPath, encodeModel(surgerModel(model, layout, variantOptions('inspect'))));
    writeFileAtomic(paths.steerPath, encodeModel(surgerModel(model, layout, variantOptions('steer'))));
    writeFileAtomic(paths.lensPath, encodeModel(buildLogitLensModel(model, layout)));
    const manifest: Manifest = {
      version: 1,
      modelSha256,
      onnxPath: folder.onnxPath,
      layout,
      externalData: external.length > 0,
      surgeryVersion: SURGERY_VERSION,
      lensVersion: LENS_VERSION,
    };
    writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 1));
  } catch (err) {
    throw new ModelFolderError(
      `Cannot write the surgered model to ${dir}: ${errorText(err)}. Check free disk space and that the cache folder is writable.`,
      { cause: err },
    );
  }
  return { key, dir, modelSha256, layout, ...paths, externalDataDir: external.length > 0 ? modelDir : null, fromCache: false };
}

function readManifest(file: string): Manifest | null {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Manifest>;
    if (m.version !== 1 || typeof m.modelSha256 !== 'string' || !m.layout) return null;
    return m as Manifest;
  } catch {
    return null; // absent or unreadable: rebuild
  }
}
