/**
 * Loaded before every test file (`npm test` passes it with --import): in a
 * file under test/unit/, opening a socket throws, so a unit test that starts
 * a server, dials an upstream or reaches Redis fails at once and names
 * itself. Such a test belongs in test/integration/ (README "Development").
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { sep } from 'node:path';

const file = process.argv[1] ?? '';

if (process.env.NODE_TEST_CONTEXT && file.includes(`${sep}test${sep}unit${sep}`)) {
  const refuse = (what: string) =>
    function refused(): never {
      throw new Error(`${file}: a unit test may not ${what}; move it to test/integration/`);
    };
  net.Server.prototype.listen = refuse('listen on a socket');
  net.Socket.prototype.connect = refuse('open a connection');
  dgram.Socket.prototype.bind = refuse('bind a UDP socket');
}
