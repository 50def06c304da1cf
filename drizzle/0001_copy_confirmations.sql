CREATE TABLE "copy_confirmations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"guild_id" text NOT NULL,
	"link_id" uuid NOT NULL,
	"follower_account_id" uuid NOT NULL,
	"follower_owner_id" text NOT NULL,
	"source_ref" text NOT NULL,
	"signal" jsonb NOT NULL,
	"copy" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"message_id" text,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "copy_confirmations" ADD CONSTRAINT "copy_confirmations_link_id_copy_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."copy_links"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "copy_confirmations" ADD CONSTRAINT "copy_confirmations_follower_account_id_exchange_accounts_id_fk" FOREIGN KEY ("follower_account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "copy_confirmations_ref_follower" ON "copy_confirmations" USING btree ("source_ref","follower_account_id");--> statement-breakpoint
CREATE INDEX "copy_confirmations_status" ON "copy_confirmations" USING btree ("status");