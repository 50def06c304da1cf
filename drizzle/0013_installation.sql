CREATE TABLE "installation" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
INSERT INTO "installation" ("id") VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 6));
