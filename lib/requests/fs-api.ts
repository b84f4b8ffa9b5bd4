// The `fs` namespace of the public surface (API.md): exactly the fs requests.
export {
  stat, lstat, fstat, open, close, read, write, readFile, writeFile, unlink, rmdir, fsync, fdatasync, mkdir, mkdtemp,
  readdir, rename, copyfile, ftruncate, access, chmod, utime, link, symlink, readlink, realpath, type DirentType,
} from './fs.js';
