// The version the build stamps in (build/build.ts defines EC2_INIT_VERSION); 'dev' when run from source.
declare const EC2_INIT_VERSION: string;
export const VERSION = typeof EC2_INIT_VERSION === 'string' ? EC2_INIT_VERSION : 'dev';
