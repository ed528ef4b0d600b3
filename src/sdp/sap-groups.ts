/** SAP's port and groups (RFC 2974), apart from src/sdp/sap.ts so that the CLI's option help does not load the SAP code. */
export const SAP_PORT = 9875;
/** RFC 2974 3: the IPv4 global-scope SAP group (VLC listens here). */
export const SAP_GLOBAL_V4 = '224.2.127.254';
/** Where PulseAudio's module-rtp-send/-recv and PipeWire's module-rtp-sap announce and listen by default. */
export const SAP_PULSE_V4 = '224.0.0.56';
/** where announcers send: PulseAudio's module-rtp-send (224.0.0.56), the SAP global scope (224.2.127.254) */
export const SAP_GROUPS = [SAP_PULSE_V4, SAP_GLOBAL_V4];
/** Every group a listener joins: the two above and the other scopes VLC's SAP discovery listens on. */
export const SAP_LISTEN_GROUPS = [...SAP_GROUPS, '239.255.255.255', '239.195.255.255', '224.0.0.255'];
/** `rtpcast send --announce` sends to both groups: VLC listens on the first, PulseAudio and PipeWire on the second. */
export const DEFAULT_ANNOUNCE_GROUPS = [SAP_GLOBAL_V4, SAP_PULSE_V4];
