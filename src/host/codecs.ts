// The codecs and digests the C host computes (a JavaScript UTF-8 or base64
// over MiB of user-data would cost seconds under QuickJS), as named
// functions: nothing outside host/ reaches the Sys object itself.
import { sys } from './sys.ts';

export const utf8Encode = (text: string): Uint8Array => sys.utf8Encode(text);
/** Invalid sequences become U+FFFD, or throw with `fatal`. */
export const utf8Decode = (bytes: Uint8Array, fatal?: boolean): string => sys.utf8Decode(bytes, fatal);
export const isUtf8 = (bytes: Uint8Array): boolean => sys.isUtf8(bytes);
export const latin1Encode = (text: string): Uint8Array => sys.latin1Encode(text);
export const latin1Decode = (bytes: Uint8Array): string => sys.latin1Decode(bytes);
export const base64Encode = (bytes: Uint8Array): string => sys.base64Encode(bytes);
export const base64Decode = (text: string): Uint8Array => sys.base64Decode(text);
export const gzip = (data: Uint8Array): Uint8Array => sys.gzip(data);
/** Throws past maxBytes of output. */
export const gunzip = (data: Uint8Array, maxBytes: number): Uint8Array => sys.gunzip(data, maxBytes);
export const sha256 = (data: Uint8Array): Uint8Array => sys.sha256(data);
export const sha512 = (data: Uint8Array): Uint8Array => sys.sha512(data);
/** Bytes from the kernel's random source. */
export const randomBytes = (n: number): Uint8Array => sys.randomBytes(n);
