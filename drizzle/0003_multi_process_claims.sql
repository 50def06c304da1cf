CREATE TABLE "account_leases" (
	"task" text NOT NULL,
	"account_id" uuid NOT NULL,
	"holder" text,
	"changed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "account_leases_task_account_id_pk" PRIMARY KEY("task","account_id")
);
--> statement-breakpoint
CREATE TABLE "engine_instances" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"heartbeat_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "account_leases" ADD CONSTRAINT "account_leases_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_leases_holder" ON "account_leases" USING btree ("holder");