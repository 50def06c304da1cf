CREATE TABLE "copy_ended_masterships" (
	"master_account_id" uuid NOT NULL,
	"mastership_since" bigint NOT NULL,
	"guild_id" text NOT NULL,
	"author_id" text,
	"reason" text NOT NULL,
	"ended_at" timestamp with time zone NOT NULL,
	"rounds" integer DEFAULT 0 NOT NULL,
	"next_round_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "copy_ended_masterships_master_account_id_mastership_since_pk" PRIMARY KEY("master_account_id","mastership_since")
);
--> statement-breakpoint
CREATE INDEX "copy_ended_masterships_due" ON "copy_ended_masterships" USING btree ("next_round_at") WHERE "copy_ended_masterships"."settled_at" is null;--> statement-breakpoint
CREATE INDEX "signals_copy_master" ON "signals" USING btree (("copy"->>'masterAccountId'),("copy"->>'orderId')) WHERE "signals"."source" = 'copy';