/**
 * `@hearth/sync`: the sync protocol (frames, messages, sessions), the transport interface with the in-memory
 * transport and the fault-injecting simulation network, membership of a space, invites.
 * Guide: `docs/sync.md`. Wire format: `docs/formats/sync-protocol.md`.
 * @packageDocumentation
 */
export { SyncNode } from './node.js';
export type { SyncNodeOptions } from './node.js';
export { SyncSession } from './session.js';
export type { SyncEvent, SessionStats, SessionHost } from './session.js';
export type { SyncReplica, ReplicaFeedResult, CommitNotice } from './types.js';
export { DatabaseReplica, membershipRecordId, parseMembershipRecord, RECORD_MAX_LAG_MS } from './db-replica.js';
export type { DatabaseReplicaOptions } from './db-replica.js';
export { Membership } from './membership.js';
export type { MembershipRecord, Role, EntryVerdict, AdminVerdict, MemberInfo } from './membership.js';
export { BaseTransport, createMemoryTransportPair } from './transport.js';
export type { Transport, TransportCloseInfo, MemoryTransportOptions } from './transport.js';
export { SimNetwork } from './sim-network.js';
export type { SimNetworkOptions, SimFaults } from './sim-network.js';
export { encodeFrameV1, decodeFrameV1, encodeFrameTextV1, decodeFrameTextV1, Framer, Deframer } from './frame.js';
export type { FrameV1 } from './frame.js';
export { encodeMessageV1, decodeMessageV1 } from './messages.js';
export type {
  SyncMessage,
  HelloMessage,
  AuthMessage,
  StateMessage,
  EntriesMessage,
  AckMessage,
  NoticeMessage,
  NoticeKind,
  AdmissionRequestMessage,
} from './messages.js';
export { encodeInviteV1, decodeInviteV1, inviteToText, inviteFromText, inviteLink, makeAdmissionRequest, verifyAdmissionRequest } from './invite.js';
export type { Invite } from './invite.js';
export { encodeInvitesFileV1, decodeInvitesFileV1, fileInviteStore, INVITES_MAGIC, INVITES_V1 } from './invite-store.js';
export type { InviteStore, StoredInvite } from './invite-store.js';
export { SyncError, SyncErrorCode } from './errors.js';
export type { SyncErrorCodeValue } from './errors.js';
export * as syncConstants from './constants.js';
export * from './sse/index.js';
