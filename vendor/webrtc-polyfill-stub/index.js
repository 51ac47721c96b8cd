// WebRTC is not used by imgswarm: every class is undefined, which webtorrent
// and bittorrent-tracker treat as "WebRTC unavailable".
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export const RTCDataChannel = undefined
export default {}
