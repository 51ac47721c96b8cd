// See index.js.
module.exports = {}
