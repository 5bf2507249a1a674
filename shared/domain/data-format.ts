// The data format a store holds: which keys and values mean what. The store records it under
// one key (`<prefix>:format`); each release knows the formats it reads and the one it
// writes, and refuses to start on a newer one than it knows, so an old release rolled back
// onto data a newer one migrated never misreads it. docs/upgrading.md says what each format
// changed and how a store moves from one to the next.

/** The formats this release reads, oldest first. */
export const READABLE_DATA_FORMATS: readonly number[] = [1];

/** The format this release writes. */
export const CURRENT_DATA_FORMAT = 1;

/**
 * The format of a store with no format key: release 0.1.0, the first, recorded none. A store
 * that is empty is recorded as this too; either way it holds nothing another format reads
 * differently.
 */
export const FORMAT_WITHOUT_KEY = 1;

/** What the store says of its format: recorded, or never recorded. */
export interface DataFormatPort {
  /** The recorded format, or undefined when none is. */
  read(): Promise<number | undefined>;
  /** Records `format` unless one is recorded already; answers the one recorded. */
  record(format: number): Promise<number>;
}

/** The store holds a format this release does not read. */
export class DataFormatError extends Error {
  override name = "DataFormatError";
}

/** Throws DataFormatError, in one line, when this release cannot read `format`. */
export function assertReadable(format: number): void {
  if (READABLE_DATA_FORMATS.includes(format)) return;
  const known = READABLE_DATA_FORMATS.join(", ");
  throw new DataFormatError(
    format > CURRENT_DATA_FORMAT
      ? `the store holds data format ${format}, newer than this release reads (${known}): deploy the release that wrote it, or a later one`
      : `the store holds data format ${format}, which this release no longer reads (${known}): upgrade through the release that migrates it (docs/upgrading.md)`,
  );
}
