#!/usr/bin/env node
// Docker HEALTHCHECK (and anyone's liveness probe): exits 0 when this machine's Conclave answers
// GET /healthz with 200, 1 otherwise. Plain Node, no dependencies; reads the same PORT, HTTP_HOST
// and TLS_CERT as the server, so it speaks https exactly when the server does.
import http from 'node:http';
import https from 'node:https';

const port = Number(process.env.PORT || 3000);
const bound = process.env.HTTP_HOST;
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
const client = process.env.TLS_CERT ? https : http;

const request = client.get(
  // The certificate names the public domain, not this address; what is checked here is that the
  // process answers, so the certificate is not.
  { host, port, path: '/healthz', timeout: 4000, rejectUnauthorized: false },
  (response) => {
    response.resume();
    if (response.statusCode !== 200) console.error(`healthcheck: /healthz answered ${response.statusCode}`);
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('no answer within 4 s')));
request.on('error', (error) => {
  console.error(`healthcheck: ${error.message}`);
  process.exit(1);
});
