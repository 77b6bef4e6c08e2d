// #cloud-boothook: the script saved for a boothook part.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boothookScript } from '../../src/handlers/boothook.ts';

describe('boothooks (unit)', () => {
  test('the saved script: CRLF made LF, the #cloud-boothook line and leading blank space dropped', () => {
    assert.equal(boothookScript(Buffer.from('#cloud-boothook\r\n\r\n#!/bin/sh\r\necho hi\r\n')), '#!/bin/sh\necho hi\n');
    assert.equal(boothookScript(Buffer.from('#!/bin/bash\necho x\n')), '#!/bin/bash\necho x\n');
    assert.equal(boothookScript(Buffer.from('#cloud-boothook\necho no shebang\n')), 'echo no shebang\n');
  });
});
