package io.courier.client;

/** Server settings that turn the media service on, for the client's media tests. */
final class MediaServers {

    private MediaServers() {
    }

    /** The media service on a free port, on the filesystem store in the server's data directory. */
    static String[] filesystem() {
        return new String[] {"media.enabled=true", "media.port=0"};
    }
}
