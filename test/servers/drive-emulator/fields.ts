import type { ServerResponse } from 'node:http';
import { sendDriveError } from './respond.js';

/**
 * EMULATOR: partial responses (`fields=`) as Drive v3 handles them: the
 * selector syntax (`nextPageToken, files(id,name)`, `*`), and a 400
 * `invalidParameter` "Invalid field selection <name>" for a name the
 * resource does not have, as Drive answers it. The known names are Drive
 * v3's documented File, FileList and About fields, whether or not the
 * emulator fills them in.
 */

/** Drive v3 `File` fields (reference: files resource). */
const FILE = [
  'kind', 'driveId', 'fileExtension', 'copyRequiresWriterPermission', 'md5Checksum', 'contentHints', 'writersCanShare', 'viewedByMe',
  'mimeType', 'exportLinks', 'parents', 'thumbnailLink', 'iconLink', 'shared', 'lastModifyingUser', 'owners', 'headRevisionId',
  'sharingUser', 'webViewLink', 'webContentLink', 'size', 'viewersCanCopyContent', 'permissions', 'hasThumbnail', 'spaces',
  'folderColorRgb', 'id', 'name', 'description', 'starred', 'trashed', 'explicitlyTrashed', 'createdTime', 'modifiedTime',
  'modifiedByMeTime', 'viewedByMeTime', 'sharedWithMeTime', 'quotaBytesUsed', 'version', 'originalFilename', 'ownedByMe',
  'fullFileExtension', 'properties', 'appProperties', 'isAppAuthorized', 'teamDriveId', 'capabilities', 'hasAugmentedPermissions',
  'trashingUser', 'thumbnailVersion', 'trashedTime', 'modifiedByMe', 'permissionIds', 'imageMediaMetadata', 'videoMediaMetadata',
  'shortcutDetails', 'contentRestrictions', 'resourceKey', 'linkShareMetadata', 'labelInfo', 'sha1Checksum', 'sha256Checksum',
  'inheritedPermissionsDisabled', 'downloadRestrictions',
];

/** Known names per resource; a nested resource points at its own table. */
type Schema = { [name: string]: Schema | true };
const fileSchema: Schema = Object.fromEntries(FILE.map((n) => [n, true]));
const SCHEMAS = {
  file: fileSchema,
  fileList: { kind: true, nextPageToken: true, incompleteSearch: true, files: fileSchema } as Schema,
  about: {
    kind: true, user: true, appInstalled: true, canCreateDrives: true, canCreateTeamDrives: true, driveThemes: true, teamDriveThemes: true,
    exportFormats: true, importFormats: true, folderColorPalette: true, maxImportSizes: true, maxUploadSize: true,
    storageQuota: { limit: true, usage: true, usageInDrive: true, usageInDriveTrash: true },
  } as Schema,
};
export type ResourceKind = keyof typeof SCHEMAS;

/** Drive v3's default fields when the request has no `fields`. */
export const DEFAULT_FILE_FIELDS = 'kind,id,name,mimeType';
export const DEFAULT_LIST_FIELDS = 'kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)';

export type Selector = Map<string, Selector | true>;

/** Parses a partial-response `fields` selector such as `nextPageToken, files(id,name)`; `*` selects all. */
export function parseFields(fields: string): Selector {
  const sel: Selector = new Map();
  let i = 0;
  const parseList = (into: Selector, closing: boolean) => {
    while (i < fields.length) {
      const m = /^\s*([A-Za-z_*][A-Za-z0-9_]*)\s*/.exec(fields.slice(i));
      if (!m) throw new Error(`invalid fields selector: ${fields}`);
      i += m[0].length;
      const name = m[1]!;
      if (fields[i] === '(') {
        i++;
        const inner: Selector = new Map();
        parseList(inner, true);
        into.set(name, inner);
      } else {
        into.set(name, true);
      }
      while (fields[i] === ' ') i++;
      if (fields[i] === ',') { i++; continue; }
      if (fields[i] === ')') {
        if (!closing) throw new Error(`invalid fields selector: ${fields}`);
        i++;
        return;
      }
      if (i < fields.length) throw new Error(`invalid fields selector: ${fields}`);
    }
  };
  parseList(sel, false);
  return sel;
}

/** Applies a selector to a JSON object (arrays are filtered element by element). */
export function pick(value: unknown, sel: Selector | true): unknown {
  if (sel === true || sel.has('*')) return value;
  if (Array.isArray(value)) return value.map((v) => pick(v, sel));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of sel) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = pick(v, sub);
  }
  return out;
}

/** The first selected name the resource (or a nested one) does not have, or undefined. */
export function unknownField(sel: Selector, kind: ResourceKind): string | undefined {
  const walk = (s: Selector, schema: Schema): string | undefined => {
    for (const [name, sub] of s) {
      if (name === '*') continue;
      const known = schema[name];
      if (!known) return name;
      if (sub !== true && known !== true) {
        const bad = walk(sub, known);
        if (bad) return bad;
      }
    }
    return undefined;
  };
  return walk(sel, SCHEMAS[kind]);
}

/**
 * Parses a request's `fields` (or `fallback` when absent) for a resource of
 * `kind`. A selector Drive would reject is answered here with Drive's 400
 * and yields undefined; the caller then stops before doing anything.
 */
export function selectFields(res: ServerResponse, fields: string | null, kind: ResourceKind, fallback: string): Selector | undefined {
  let sel: Selector;
  try {
    sel = parseFields(fields ?? fallback);
  } catch {
    sendDriveError(res, 400, 'invalidParameter', `Invalid field selection ${fields}`, { location: 'fields', locationType: 'parameter' });
    return undefined;
  }
  const bad = unknownField(sel, kind);
  if (bad === undefined) return sel;
  sendDriveError(res, 400, 'invalidParameter', `Invalid field selection ${bad}`, { location: 'fields', locationType: 'parameter' });
  return undefined;
}
