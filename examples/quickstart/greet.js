// A quickstart handler for the Node worker runtime.
exports.greet = async (name) => `hello, ${name}, from node ${process.version}`;
