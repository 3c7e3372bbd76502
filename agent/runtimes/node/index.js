// @ts-check
/**
 * What handler modules import: the hook symbols for classes (PROTOCOL.md, "Handler forms").
 *
 *   const { enter, exit } = require("@warmpool/worker");
 *   exports.Model = class { static [enter] = ["load"]; static [exit] = ["close"]; ... };
 */
"use strict";

const { enter, exit, method } = require("./lib/hooks");
const { Response } = require("./lib/web");

module.exports = { enter, exit, method, Response };
