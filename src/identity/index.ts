/**
 * Identity: who is calling (auth modes, virtual keys, trusted proxy headers,
 * the admin token). See docs/security.md.
 */
export { IdentityResolver, type IdentityInput } from './resolver.js';
export { ANONYMOUS, type Identity, type IdentitySource } from './identity.js';
export { AdminCheck, isLoopback, viaProxy } from './admin.js';
export { ProxyTrust, grpcPeerAddress, normalizeAddress } from './trusted-proxy.js';
export { hashKey, keyIdOf, keyMatches, newKey } from './key-format.js';
export { openKeyStore, type KeyStore } from './key-store.js';
export { namedTenant, credentialTenant, boundedId } from './tenant-name.js';
export { readCredential, type Credential } from './credentials.js';
