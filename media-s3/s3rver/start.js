// Starts @20minutes/s3rver on 127.0.0.1 with a free port for the s3 store's tests, with one
// bucket, signature checks on (access key S3RVER, secret S3RVER), and prints "LISTENING <port>".
// It stops when its standard input closes, so it never outlives the test that started it.
// Usage: node start.js DATA_DIRECTORY BUCKET
'use strict';
const S3rver = require('@20minutes/s3rver');

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  console.error('usage: node start.js DATA_DIRECTORY BUCKET');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  allowMismatchedSignatures: false,
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.run().then(
  (address) => console.log('LISTENING ' + address.port),
  (err) => {
    console.error('s3rver did not start: ' + err.message);
    process.exit(1);
  },
);
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
