/**
 * The pipe codec: how batches of frames travel over a byte stream (a subprocess's stdin and
 * stdout). Every batch is one message: an 8-byte header (the magic bytes `FF 54 52 50`, then the
 * body's length as a little-endian `uint32`) and a body: a tag byte, then either JSON text, when
 * JSON represents the batch exactly, or what V8's serializer wrote (`node:v8`'s `Serializer`: the
 * structured-clone format), so payloads arrive as a worker's `postMessage` would deliver them. A
 * batch is serialized once, whatever the number of frames and messages in it. `0xFF` never occurs
 * in UTF-8 text, so stray text on the stream cannot pass for a header: the reader skips it.
 *
 * @module
 */

import { Deserializer, Serializer } from "node:v8";
import { isJsonData, type JsonWalk } from "./_json.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The first four bytes of every message on the pipe. */
const MAGIC = [0xff, 0x54, 0x52, 0x50] as const;
/** Magic (4 bytes) and body length (4 bytes). */
const HEADER_BYTES = 8;
const MAX_BODY = 0xffff_ffff;
/** The body's first byte: the rest is JSON text (UTF-8). */
const TAG_JSON = 0x4a;
/** The body's first byte: the rest is V8's structured-clone format. */
const TAG_V8 = 0x56;
/** Past this many UTF-16 units, JSON text is encoded exactly rather than into a worst-case buffer. */
const ENCODE_INTO_LIMIT = 64 * 1024;
/**
 * A batch takes the JSON path when JSON gives back exactly what structured clone would: no `-0`, no
 * `undefined` field, at most 64 levels deep (deeper, V8's serializer, which also handles cycles),
 * and at most 2^20 values looked at (past that, V8's serializer, which writes each object once: a
 * small batch whose objects are reached from many places would take the check and
 * `JSON.stringify` a time proportional to its paths, not its size).
 */
const EXACT: JsonWalk = {
  maxDepth: 65,
  negativeZero: false,
  undefinedFields: false,
  maxValues: 1 << 20,
};

/**
 * Serializes a batch of frames into one message: header and body.
 *
 * A batch that JSON represents exactly (plain objects, dense arrays, strings, booleans, `null`,
 * finite numbers other than `-0`) travels as JSON text, which costs a third of V8's serializer;
 * anything else (`undefined`, `Map`, `Date`, typed arrays, `bigint`, cycles, …) as V8's
 * structured-clone format. Either way the receiver gets what `structuredClone` would give, except
 * that an object referenced twice in a JSON batch arrives as two copies.
 *
 * @throws {DOMException} A `DataCloneError` when a value cannot be serialized (a function, a
 * symbol, a `SharedArrayBuffer`, …), as `postMessage` would.
 */
export function encodeFrames(frames: readonly unknown[]): Uint8Array {
  let json: string | undefined;
  try {
    if (isJsonData(frames, EXACT)) json = JSON.stringify(frames);
  } catch {
    json = undefined; // a throwing getter, say: V8's serializer reports it
  }
  if (json !== undefined) {
    if (json.length <= ENCODE_INTO_LIMIT) {
      const out = new Uint8Array(HEADER_BYTES + 1 + json.length * 3);
      const { written } = encoder.encodeInto(json, out.subarray(HEADER_BYTES + 1));
      return frame(out, TAG_JSON, written);
    }
    return withHeader(TAG_JSON, encoder.encode(json));
  }
  // A fresh serializer per batch: V8's serializer remembers every object it wrote, and would write
  // a back-reference the other side cannot resolve if the same object came again.
  const serializer = new Serializer();
  let body: Uint8Array;
  try {
    serializer.writeHeader();
    serializer.writeValue(frames);
    body = serializer.releaseBuffer();
  } catch (error) {
    throw new DOMException(
      `Cannot send frames to a subprocess: ${(error as Error).message}`,
      "DataCloneError",
    );
  }
  return withHeader(TAG_V8, body);
}

function withHeader(tag: number, body: Uint8Array): Uint8Array {
  if (body.byteLength + 1 > MAX_BODY) {
    throw new DOMException(
      `Cannot send frames to a subprocess: ${body.byteLength} bytes exceed ${MAX_BODY}`,
      "DataCloneError",
    );
  }
  const out = new Uint8Array(HEADER_BYTES + 1 + body.byteLength);
  out.set(body, HEADER_BYTES + 1);
  return frame(out, tag, body.byteLength);
}

/** Writes the header and tag in front of `size` body bytes already in place. */
function frame(out: Uint8Array, tag: number, size: number): Uint8Array {
  out.set(MAGIC, 0);
  new DataView(out.buffer, out.byteOffset).setUint32(4, size + 1, true);
  out[HEADER_BYTES] = tag;
  return out.subarray(0, HEADER_BYTES + 1 + size);
}

/**
 * Deserializes one message body written by {@linkcode encodeFrames}.
 *
 * @throws {Error} When the body is not a batch of frames.
 */
export function decodeFrames<T>(body: Uint8Array): T[] {
  let frames: unknown;
  if (body[0] === TAG_JSON) {
    frames = JSON.parse(decoder.decode(body.subarray(1)));
  } else if (body[0] === TAG_V8) {
    const deserializer = new Deserializer(body.subarray(1));
    deserializer.readHeader();
    frames = deserializer.readValue();
  }
  if (!Array.isArray(frames)) throw new TypeError("A message on the pipe is not a batch of frames");
  return frames as T[];
}

/**
 * Cuts a byte stream into the messages {@linkcode encodeFrames} wrote. Bytes between messages
 * that do not start with the magic (text a library printed on stdout) go to `stray`.
 */
export class FrameReader<T> {
  readonly #onFrames: (frames: T[]) => void;
  readonly #stray: (bytes: Uint8Array) => void;
  readonly #maxBody: number;
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /**
   * Creates a reader.
   *
   * @param onFrames Receives each decoded batch, in order.
   * @param stray Receives bytes that are not part of a message.
   * @param maxBody The longest body accepted, in bytes: a header announcing more is refused at
   * once, before its bytes are buffered (a writer that is not trusted cannot make the reader hold
   * gigabytes).
   */
  constructor(
    onFrames: (frames: T[]) => void,
    stray: (bytes: Uint8Array) => void,
    maxBody: number = MAX_BODY,
  ) {
    this.#onFrames = onFrames;
    this.#stray = stray;
    this.#maxBody = maxBody;
  }

  /** Bytes received but not yet part of a whole message. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /**
   * Takes the next bytes of the stream. Whole messages are decoded and handed on synchronously;
   * the rest is copied, so the caller may reuse `chunk` once this returns.
   *
   * @throws {Error} When a message body cannot be deserialized.
   * @throws {RangeError} When a header announces a body longer than `maxBody`.
   */
  push(chunk: Uint8Array): void {
    if (this.#end === this.#start) {
      // The common case: nothing pending, so read messages straight out of the chunk.
      const used = this.#parse(chunk, 0, chunk.byteLength);
      if (used < chunk.byteLength) this.#append(chunk.subarray(used));
      return;
    }
    this.#append(chunk);
    this.#start = this.#parse(this.#buffer, this.#start, this.#end);
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Parses whole messages in `bytes[from, to)`; returns where the unparsed rest begins. */
  #parse(bytes: Uint8Array, from: number, to: number): number {
    let at = from;
    while (to - at >= 1) {
      if (bytes[at] !== MAGIC[0]) {
        const next = bytes.subarray(at, to).indexOf(MAGIC[0]);
        const skip = next < 0 ? to - at : next;
        this.#stray(bytes.slice(at, at + skip));
        at += skip;
        continue;
      }
      if (to - at < HEADER_BYTES) {
        // Not enough for a header; but if what is there already breaks the magic, it is stray.
        if (!matchesMagic(bytes, at, to)) {
          this.#stray(bytes.slice(at, at + 1));
          at += 1;
          continue;
        }
        break;
      }
      if (!matchesMagic(bytes, at, to)) {
        this.#stray(bytes.slice(at, at + 1));
        at += 1;
        continue;
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4);
      const length = view.getUint32(0, true);
      if (length > this.#maxBody) {
        throw new RangeError(
          `A message on the pipe announces ${length} bytes, more than the ${this.#maxBody} accepted`,
        );
      }
      if (to - at - HEADER_BYTES < length) break;
      const body = bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
      at += HEADER_BYTES + length;
      this.#onFrames(decodeFrames<T>(body));
    }
    return at;
  }

  #append(chunk: Uint8Array): void {
    const size = this.#end - this.#start;
    const needed = size + chunk.byteLength;
    if (this.#end + chunk.byteLength > this.#buffer.byteLength) {
      if (needed <= this.#buffer.byteLength / 2) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(needed * 2, 64 * 1024));
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = size;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }
}

/** Whether the bytes from `at` (up to four, fewer if `to` comes first) are the magic's. */
function matchesMagic(bytes: Uint8Array, at: number, to: number): boolean {
  for (let i = 0; i < MAGIC.length && at + i < to; i++) {
    if (bytes[at + i] !== MAGIC[i]) return false;
  }
  return true;
}
