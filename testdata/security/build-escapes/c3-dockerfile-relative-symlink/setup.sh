rm Dockerfile && ln -s ../../../../../../../../../../../../../../../../../../../../"$HOSTDIR_REL"/secret Dockerfile
