mknod mem c 1 1
