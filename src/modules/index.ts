// Every module, in the order each stage runs them (cloud-init's
// cloud_init_modules / cloud_config_modules / cloud_final_modules).
import { bootcmd } from './bootcmd.ts';
import type { Module } from './module.ts';
import { runcmd } from './runcmd.ts';
import { scriptsPerBoot, scriptsPerInstance, scriptsPerOnce, scriptsUser } from './scripts.ts';
import { writeFiles, writeFilesDeferred } from './write_files.ts';

export const MODULES: readonly Module[] = [
  // stage init
  bootcmd,
  writeFiles,
  // stage config
  runcmd,
  // stage final: deferred files first, so the user's scripts can use them
  writeFilesDeferred,
  scriptsPerOnce,
  scriptsPerBoot,
  scriptsPerInstance,
  scriptsUser,
];
