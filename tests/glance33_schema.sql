-- Glance 33's image tables as `glance-manage db_sync` creates them on PostgreSQL (from pg_dump,
-- indexes left out), in a schema of their own: what bench/glance_world.py copies into.
CREATE SCHEMA glance33;
SET search_path = glance33;
CREATE TYPE image_visibility AS ENUM ('private', 'public', 'shared', 'community');
CREATE TABLE images (
    id character varying(36) PRIMARY KEY,
    name character varying(255),
    size bigint,
    status character varying(30) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    deleted boolean NOT NULL,
    disk_format character varying(20),
    container_format character varying(20),
    checksum character varying(32),
    owner character varying(255),
    min_disk integer NOT NULL,
    min_ram integer NOT NULL,
    protected boolean DEFAULT false NOT NULL,
    virtual_size bigint,
    visibility image_visibility DEFAULT 'shared' NOT NULL,
    os_hidden boolean DEFAULT false NOT NULL,
    os_hash_algo character varying(64),
    os_hash_value character varying(128)
);
CREATE TABLE image_properties (
    id serial PRIMARY KEY,
    image_id character varying(36) NOT NULL REFERENCES images (id),
    name character varying(255) NOT NULL,
    value text,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    deleted boolean NOT NULL,
    CONSTRAINT ix_image_properties_image_id_name UNIQUE (image_id, name)
);
CREATE TABLE image_tags (
    id serial PRIMARY KEY,
    image_id character varying(36) NOT NULL REFERENCES images (id),
    value character varying(255) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    deleted boolean NOT NULL
);
CREATE TABLE image_locations (
    id serial PRIMARY KEY,
    image_id character varying(36) NOT NULL REFERENCES images (id),
    value text NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    deleted boolean NOT NULL,
    meta_data text,
    status character varying(30) DEFAULT 'active' NOT NULL
);
CREATE TABLE image_members (
    id serial PRIMARY KEY,
    image_id character varying(36) NOT NULL REFERENCES images (id),
    member character varying(255) NOT NULL,
    can_share boolean NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    deleted boolean NOT NULL,
    status character varying(20) DEFAULT 'pending' NOT NULL,
    CONSTRAINT image_members_image_id_member_deleted_at_key UNIQUE (image_id, member, deleted_at)
);
