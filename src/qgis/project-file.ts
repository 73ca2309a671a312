// The XML text of a QGIS project file: a .qgs is the XML itself, a .qgz a zip holding one .qgs.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import yauzl from 'yauzl';

export class ProjectFileError extends Error {}

/** A .qgs inside a .qgz is small; refuse anything that would not fit a sane project. */
const MAX_QGS_BYTES = 256 * 1024 * 1024;

function qgsInZip(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err) return reject(new ProjectFileError(`${path}: not a zip archive (${err.message})`));
      let found = false;
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!entry.fileName.toLowerCase().endsWith('.qgs') || entry.fileName.includes('/')) return zip.readEntry();
        if (entry.uncompressedSize > MAX_QGS_BYTES) return reject(new ProjectFileError(`${path}: ${entry.fileName} is too large`));
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

export async function readProjectXml(path: string): Promise<string> {
  return extname(path).toLowerCase() === '.qgz' ? qgsInZip(path) : readFile(path, 'utf8');
}
