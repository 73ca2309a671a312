// The XML text of a QGIS project file: a .qgs is the XML itself, a .qgz a zip holding one .qgs.
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import yauzl from 'yauzl';

export class ProjectFileError extends Error {}

/**
 * The largest project read, in a .qgs or inside a .qgz. Its XML is parsed whole on the main thread
 * (and again in each pool worker), at 15–35 bytes of heap and 0.2–0.3 s per MB: a 200 MB project
 * (a 190 KB .qgz) filled the 4 GB heap, and the process died.
 */
const MAX_QGS_BYTES = 32 * 1024 * 1024;
const tooLarge = (path: string) => new ProjectFileError(`${path}: the project is larger than ${MAX_QGS_BYTES / 2 ** 20} MB`);

function qgsInZip(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err) return reject(new ProjectFileError(`${path}: not a zip archive (${err.message})`));
      let found = false;
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!entry.fileName.toLowerCase().endsWith('.qgs') || entry.fileName.includes('/')) return zip.readEntry();
        // yauzl checks that the entry inflates to the size its header gives.
        if (entry.uncompressedSize > MAX_QGS_BYTES) return reject(tooLarge(path));
        found = true;
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(new ProjectFileError(`${path}: ${e.message}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (se) => reject(new ProjectFileError(`${path}: ${se.message}`)));
          stream.on('end', () => { zip.close(); resolve(Buffer.concat(chunks).toString('utf8')); });
        });
      });
      zip.on('end', () => { if (!found) reject(new ProjectFileError(`${path}: the archive holds no .qgs project`)); });
      zip.on('error', (e: Error) => reject(new ProjectFileError(`${path}: ${e.message}`)));
      zip.readEntry();
    });
  });
}

async function qgsFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    if ((await handle.stat()).size > MAX_QGS_BYTES) throw tooLarge(path);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export async function readProjectXml(path: string): Promise<string> {
  return extname(path).toLowerCase() === '.qgz' ? qgsInZip(path) : qgsFile(path);
}
