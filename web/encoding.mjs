// Bytes as text, without side effects, so that any of our workers can import it: hex digests and base64.
export const hex = (bytes) => Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");

// Bytes' SHA-256 in hex, whole, by WebCrypto, not hash-wasm (kept for incremental hashing, hash_worker.mjs):
// importing hash-wasm's 216 KB module put it on the engine host's start.
export const digestHex = async (bytes) => hex(await crypto.subtle.digest("SHA-256", bytes));

// A short text's SHA-256 in hex, for file names (a partial download's by its URL, a warm start's plan by its call).
export const sha256Hex = (text) => digestHex(new TextEncoder().encode(text));

// Bytes kept in JSON (a hasher's state, a warm start's warm-up graph).
export const base64 = (bytes) => btoa(String.fromCharCode(...bytes));
export const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
export const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
