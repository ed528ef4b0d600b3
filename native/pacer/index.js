'use strict';
// Loads the built addon; throws (with the reason) when it was not built.
module.exports = require('./build/Release/rtpcast_pacer.node');
